import { loadContainConfig } from '../lib/config.ts';
import { makeContainHandler } from './contain-handler.ts';
import { createResponderRuntime } from './wiring.ts';

export const handler = makeContainHandler(createResponderRuntime(loadContainConfig()));

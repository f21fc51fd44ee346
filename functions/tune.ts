import { loadTuneConfig } from '../lib/config.ts';
import { makeTuneHandler } from './tune-handler.ts';
import { createTuneRuntime } from './wiring.ts';

export const handler = makeTuneHandler(createTuneRuntime(loadTuneConfig()));

import { loadConfig } from '../lib/config.ts';
import { makeScoreHandler } from './score-handler.ts';
import { createScoringRuntime } from './wiring.ts';

export const handler = makeScoreHandler(createScoringRuntime(loadConfig(), 'score'));

import { loadInventoryConfig } from '../lib/config.ts';
import { makeInventoryHandler } from './inventory-handler.ts';
import { createInventoryRuntime } from './wiring.ts';

export const handler = makeInventoryHandler(createInventoryRuntime(loadInventoryConfig()));

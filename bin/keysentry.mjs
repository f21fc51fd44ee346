#!/usr/bin/env node
// The installed `keysentry` command: runs the TypeScript entry point through tsx.
//
// No V8 flags. A larger young generation (--max-semi-space-size=32) once kept a month's replay
// from filling the old generation with garbage; since the detector lets go of what it no longer
// reads, V8's defaults are as fast and use less memory (measured side by side: the 200 MB log
// file 12.6 s and 295–313 MB against 13.1–13.3 s and 351–397 MB with the flag; benign 30 days ×20
// 341 MB against 374 MB). npm start and npm run keysentry execute this file, and npm run bench
// reads this line for the flags every side of its comparison runs with.
import { register } from 'tsx/esm/api';

register();
await import('./keysentry.ts');

#!/usr/bin/env -S node --max-old-space-size=1536
// The installed `keysentry` command: runs the TypeScript entry point through tsx.
//
// --max-old-space-size=1536: with the machine's default ceiling (about 4 GB here) V8 lets the heap
// grow to about four times what is live between full collections, and a replay's peak memory is
// mostly garbage (the 200 MB log file: 168 MB of heap in use against 73 MB live). Under a lower
// ceiling it grows by less: measured side by side, the 200 MB file peaked at 247 MB of RSS instead
// of 298, the 2-day imaging world with 2 reader threads at 238 MB instead of 325, at the same
// speed. A replay's live heap stays under 100 MB (a month of logs); one that needs more than
// 1.5 GB stops with V8's "heap out of memory": run `node --max-old-space-size=4096
// bin/keysentry.mjs …` then. npm start and npm run keysentry execute this file, and npm run bench
// reads this line for the flags every side of its comparison runs with.
import { register } from 'tsx/esm/api';

register();
await import('./keysentry.ts');

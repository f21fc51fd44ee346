#!/usr/bin/env -S node --max-semi-space-size=32
// The installed `keysentry` command: runs the TypeScript entry point through tsx.
//
// --max-semi-space-size=32: a replay allocates short-lived objects fast, and with V8's default
// 16 MB semi-spaces many of them are promoted only because the current log file or batch still
// holds them; the old generation then fills with garbage (a month of logs peaked above 500 MB of
// RSS while the heap after each full collection was 30–50 MB). This line is the one place the
// flag is set: npm start and npm run keysentry execute this file, and npm run bench reads it.
import { register } from 'tsx/esm/api';

register();
await import('./keysentry.ts');

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Starts moto_server (the AWS emulator) once for the run; tests reach it with inject('awsEndpoint').
    globalSetup: ['./test/support/moto-server.ts'],
  },
});

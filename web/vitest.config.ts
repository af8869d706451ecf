import { defineConfig } from 'vitest/config';

// Unit tests cover the framework-free code in src/lib; pages are tested in a real
// browser by tests/browser (see README).
export default defineConfig({
  test: { include: ['src/**/*.test.ts'], environment: 'node' },
});

import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

// The actor serves web/dist at `/` with an SPA fallback; pages are hash routes, so the
// built files only need root paths. `npm run dev` forwards /api to a running actor.
export default defineConfig({
  plugins: [svelte()],
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 600 },
  server: {
    proxy: { '/api': process.env.ACTOR_URL ?? 'http://127.0.0.1:8080' },
  },
});

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The dashboard is a static app served by the hub; it talks only to /api and /api/live.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  server: { proxy: { '/api': { target: 'http://localhost:8080', ws: true } } },
});

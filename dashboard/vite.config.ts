import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The dashboard is a static app served by the hub; it talks only to /api and /api/live.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  // One bundle for every view (Leaflet and Chart.js included): a response centre's PCs load it once.
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1000 },
  server: { proxy: { '/api': { target: 'http://localhost:8080', ws: true } } },
});

import { defineConfig } from 'vite';

// JSX for Preact without a plugin: Vite's own transform, told where the JSX runtime lives
export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, assetsDir: 'assets', sourcemap: false },
  server: { proxy: { '^/(devices|alerts|alert-rules|commands|auth|metrics|ready|health)': 'http://127.0.0.1:3000' } },
});

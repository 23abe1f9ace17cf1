import { defineConfig } from 'vite';

// No React plugin: esbuild turns JSX into react/jsx-runtime calls by itself.
export default defineConfig({
  esbuild: { jsx: 'automatic' },
  server: { host: '127.0.0.1', port: 5173, strictPort: true },
  // bundled at start, not on the first visit (which would reload the page)
  optimizeDeps: {
    include: ['react', 'react/jsx-runtime', 'react/jsx-dev-runtime', 'react-dom/client', 'react-router'],
  },
  build: {
    rollupOptions: {
      onwarn(warning, warn) {
        // react-router's "use client" means nothing outside server components
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
});

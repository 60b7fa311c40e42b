// One ES module and one stylesheet with fixed names: the Python side reads them as inline
// js/css for st.components.v2, and `make canvas-check` compares them byte for byte, so
// nothing here may vary between runs (no hashes, no timestamps, no sourcemaps).
// An app build (not lib mode) so that the ES output is fully minified.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

export default defineConfig({
  plugins: [react()],
  define: { "process.env.NODE_ENV": JSON.stringify("production") },
  build: {
    outDir: "../static", // `make canvas-check` passes --outDir to build elsewhere
    emptyOutDir: true,
    sourcemap: false,
    minify: "esbuild",
    cssCodeSplit: false,
    modulePreload: false,
    reportCompressedSize: false,
    rollupOptions: {
      input: "src/main.tsx",
      preserveEntrySignatures: "exports-only",
      output: {
        format: "es",
        inlineDynamicImports: true,
        entryFileNames: "flow_canvas.js",
        assetFileNames: "flow_canvas[extname]",
      },
    },
  },
});

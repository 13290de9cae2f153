/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `npm run dev` proxies the API and the local config to `make api` (127.0.0.1:3000).
const localApi = process.env.LOCAL_API_URL ?? "http://127.0.0.1:3000";

export default defineConfig({
  plugins: [react()],
  // Relative asset URLs: the same build works at a domain's root or under a path.
  base: "./",
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false },
  server: {
    host: "127.0.0.1",
    proxy: { "/api": localApi, "/config.json": localApi },
  },
  test: {
    environment: "jsdom",
    include: ["tests/**/*.test.{ts,tsx}"],
    // The longest form tests type a whole week of hours: on a busy 2-core machine they pass 5 s.
    testTimeout: 20_000,
  },
});

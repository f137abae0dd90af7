/**
 * Loaded with `node --import` before every test file: makes ATTN_BACKEND (or,
 * unset, the fastest backend that loads) the active backend, so the whole
 * suite runs on each backend in turn (`npm run test:backends`).
 */
import { useBackend } from "../../src/backend/select.js";

const backend = useBackend();
if (process.env.ATTN_TEST_SHOW_BACKEND) console.error(`# backend: ${backend.name}`);

/**
 * The tokenizer worker as one self-contained script (tokenizer-worker with js-tiktoken's
 * encoder inlined), for a process where tokenizer-worker.js is not on disk: an app bundled
 * into a single file. In dist/ the build (scripts/build.mjs) replaces this module with the
 * generated script; from source the worker file is always there, so it stays undefined.
 */
export const TOKENIZER_WORKER_SCRIPT: string | undefined = undefined;

#!/usr/bin/env node
// Thin launcher so `npx wsgate` and the image's ENTRYPOINT share one entry point.
import '../dist/cli/main.js';

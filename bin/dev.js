#!/usr/bin/env node
// Runs the commands from a fresh build of src/ (npm run build first); kept for oclif's conventions.
import { execute } from '@oclif/core';

await execute({ development: true, dir: import.meta.url });

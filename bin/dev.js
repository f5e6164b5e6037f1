#!/usr/bin/env node
// Runs the commands from a fresh build of src/ (npm run build first); kept for oclif's conventions.
// CommonJS, like run.js (see there).
'use strict';
const { join } = require('node:path');

require('@oclif/core').execute({ development: true, dir: join(__dirname, '..') });

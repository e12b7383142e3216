#!/usr/bin/env node
import '../dist/berthd.mjs';

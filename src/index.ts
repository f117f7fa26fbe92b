#!/usr/bin/env bun
import { main } from './cli'

// no top-level await: the compiled binary is built with --bytecode, which needs a CommonJS-shaped entry
void main(process.argv.slice(2)).then((code) => {
	process.exitCode = code
})

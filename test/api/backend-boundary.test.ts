/**
 * The backend boundary (docs/architecture.md): nothing outside src/tensor and
 * src/backend touches a tensor's storage. Code above reads with
 * readSync()/read(), writes with fromArray/assign and the in-place ops, so a
 * backend whose memory is a device buffer can sit behind the same calls.
 *
 * The TypeScript checker resolves what each `.data`, `.storage` and
 * `.view()` is accessed on, so a config's `data` field passes and a tensor's
 * fails. The planted offender below proves the check can fail.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import ts from "typescript";

const ROOT = path.resolve(".");
const ALLOWED = [
  path.join(ROOT, "src/tensor") + path.sep,
  path.join(ROOT, "src/backend") + path.sep,
];
const STORAGE_TYPES = new Set(["Tensor", "Storage", "Parameter"]);
const STORAGE_MEMBERS = new Set(["data", "storage", "view"]);

function program(tsconfig: string, extra: string[] = []): ts.Program {
  const cfg = ts.readConfigFile(tsconfig, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(cfg.config, ts.sys, path.dirname(tsconfig));
  return ts.createProgram([...parsed.fileNames, ...extra], { ...parsed.options, noEmit: true });
}

/** `file:line: expr.member` for every storage access on a Tensor-like value in `files`. */
function violations(p: ts.Program, inScope: (file: string) => boolean): string[] {
  const checker = p.getTypeChecker();
  const out: string[] = [];
  for (const sf of p.getSourceFiles()) {
    const file = path.resolve(sf.fileName);
    if (sf.isDeclarationFile || !inScope(file)) continue;
    if (ALLOWED.some((dir) => file.startsWith(dir))) continue;
    const visit = (node: ts.Node) => {
      if (ts.isPropertyAccessExpression(node) && STORAGE_MEMBERS.has(node.name.text)) {
        const type = checker.getTypeAtLocation(node.expression);
        const names = (type.isUnion() ? type.types : [type]).map(
          (t) => (t.getSymbol() ?? t.aliasSymbol)?.getName() ?? "",
        );
        if (names.some((n) => STORAGE_TYPES.has(n))) {
          const { line } = sf.getLineAndCharacterOfPosition(node.getStart());
          out.push(`${path.relative(ROOT, file)}:${line + 1}: ${node.getText()}`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return out;
}

test("no tensor storage access outside src/tensor and src/backend (src/ and web/src)", () => {
  const src = violations(program(path.join(ROOT, "tsconfig.json")), (f) =>
    f.startsWith(path.join(ROOT, "src") + path.sep),
  );
  const web = violations(program(path.join(ROOT, "web/tsconfig.json")), (f) =>
    f.startsWith(path.join(ROOT, "web/src") + path.sep),
  );
  assert.deepEqual([...src, ...web], []);
});

test("the check finds a planted storage access", () => {
  const planted = path.join(ROOT, "test/api/fixtures/reads-storage.ts");
  const found = violations(
    program(path.join(ROOT, "tsconfig.json"), [planted]),
    (f) => f === planted,
  );
  assert.equal(found.length, 3, found.join("\n"));
});

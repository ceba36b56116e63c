import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as ts from 'typescript';

const ROOT = join(__dirname, '../..');
const PAGES = join(ROOT, 'docs/constructs');
const pages = readdirSync(PAGES).filter((f) => f.endsWith('.md'));

/** The complete ```ts blocks of a markdown file (```ts fragment blocks assume a surrounding app). */
function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

/** Relative link targets of a markdown file (no URLs, no anchors). */
function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1].split('#')[0])
    .filter((target) => target && !/^[a-z]+:/.test(target));
}

describe('docs/constructs', () => {
  test('there is a page per capability, each with an example, default settings, alarms and props', () => {
    for (const capability of [
      'network',
      'database',
      'cache',
      'edge',
      'restore-verification',
      'background-jobs',
      'service',
      'safe-deployment',
      'observability',
    ]) {
      const page = readFileSync(join(PAGES, `${capability}.md`), 'utf8');
      for (const heading of ['## Example', '## Default settings', '## Alarms', '## Props']) {
        expect(`${capability}: ${page.includes(`\n${heading}\n`)}`).toBe(`${capability}: true`);
      }
      expect(tsBlocks(page).length).toBeGreaterThan(0);
    }
  });

  test('every ```ts example type-checks against the public API (lib/index.ts as @shipshape/cdk)', () => {
    const files = new Map<string, string>();
    for (const page of pages) {
      tsBlocks(readFileSync(join(PAGES, page), 'utf8')).forEach((code, i) => {
        // Each block is its own module (top-level names do not clash across blocks).
        files.set(join(PAGES, `__${page.replace(/\W/g, '_')}_${i}.ts`), `${code}\nexport {};\n`);
      });
    }
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      esModuleInterop: true,
      types: ['node'],
      baseUrl: ROOT,
      paths: { '@shipshape/cdk': ['lib/index.ts'] },
    };
    const host = ts.createCompilerHost(options);
    const readFile = host.readFile.bind(host);
    const fileExists = host.fileExists.bind(host);
    host.readFile = (name) => files.get(resolve(name)) ?? readFile(name);
    host.fileExists = (name) => files.has(resolve(name)) || fileExists(name);
    const program = ts.createProgram([...files.keys()], options, host);
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file && files.has(resolve(d.file.fileName)))
      .map((d) => `${d.file!.fileName}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    expect(problems).toEqual([]);
    // Guard against a vacuous pass: the examples were really compiled.
    expect(files.size).toBeGreaterThanOrEqual(9);
  });

  test('README and every construct page link only to files that exist', () => {
    const docs = [join(ROOT, 'README.md'), ...pages.map((p) => join(PAGES, p))];
    const broken: string[] = [];
    for (const doc of docs) {
      for (const target of relativeLinks(readFileSync(doc, 'utf8'))) {
        if (!existsSync(resolve(dirname(doc), target))) broken.push(`${doc}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  test('the README stays a landing page (at most 250 lines) that links every construct page', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme.split('\n').length).toBeLessThanOrEqual(250);
    for (const page of pages) expect(readme).toContain(`](docs/constructs/${page})`);
  });
});

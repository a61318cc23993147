import fs from 'node:fs';
import path from 'node:path';

/** The repository root (holding package.json), found the same way from sources and from dist/. */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate)) {
      const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: string };
      if (pkg.name === 'mlcycle') return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('mlcycle package.json not found above ' + __dirname);
    dir = parent;
  }
}

export function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

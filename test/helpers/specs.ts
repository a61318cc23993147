import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { writeDemoDataset } from '../../src/demo/demo-data';

const EXAMPLE = path.join(__dirname, '..', '..', 'examples', 'churn', 'pipeline.yaml');

/** A folder holding a generated churn dataset and specs derived from the example spec. */
export class SpecWorkspace {
  private constructor(readonly dir: string) {}

  static async create(opts: { rows?: number; seed?: number } = {}): Promise<SpecWorkspace> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-spec-'));
    await writeDemoDataset(path.join(dir, 'data', 'churn.csv'), { rows: opts.rows ?? 2000, seed: opts.seed ?? 7 });
    return new SpecWorkspace(dir);
  }

  /** Writes a spec: the example with `edit` applied to its parsed document. */
  async spec(file: string, edit: (doc: Record<string, any>) => void = () => undefined): Promise<string> {
    const doc = YAML.parse(await fs.readFile(EXAMPLE, 'utf8')) as Record<string, any>;
    edit(doc);
    const target = path.join(this.dir, file);
    await fs.writeFile(target, YAML.stringify(doc));
    return target;
  }

  async writeFile(rel: string, content: string): Promise<string> {
    const target = path.join(this.dir, rel);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, content);
    return target;
  }

  async remove(): Promise<void> {
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}

import { Option, type Command } from 'commander';
import { inferDataSection, renderDataSection } from '../data/schema-infer';
import type { DataFormat } from '../data/dataset-reader';

export function addSchemaCommands(program: Command): void {
  const schema = program.command('schema').description('Work with the data schema of a spec');
  schema
    .command('infer <data-file>')
    .description('Read a data file and print a `data:` section (types, ranges, category values, target) for a pipeline spec')
    .option('--target <column>', 'the column to predict')
    .addOption(new Option('--format <format>', 'data format (default: from the file extension)').choices(['csv', 'parquet', 'jsonl']))
    .action(async (file: string, opts: { target?: string; format?: DataFormat }) => {
      const section = await inferDataSection(file, opts);
      process.stdout.write(renderDataSection(section));
    });
}

import 'reflect-metadata';
import { runCli } from './cli/cli.js';

await runCli(process.argv);

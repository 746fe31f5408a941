import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Application } from '../application/application.js';
import type { Services } from '../application/services.js';
import type { TenantView } from '../application/tenants.js';
import { systemCaller } from '../server/start.js';
import { tenantNotFound } from '../shared/errors.js';
import { isValidId } from '../shared/ids.js';

type WithApplication = <T>(work: (opened: { app: Application; services: Services }) => Promise<T>) => Promise<T>;

function tenantIdArg(value: string): string {
  if (!isValidId('tenant', value)) throw new InvalidArgumentError('a tenant id: lower-case letters, digits, _ and -');
  return value;
}

function booleanArg(value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new InvalidArgumentError('true or false');
}

function revisionArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('a revision (a whole number)');
  return n;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

const write = (text: string): void => void process.stdout.write(text);

/** A tenant as one tab-separated line: id, name, status, revision, domains. */
const line = (t: TenantView): string => `${t.id}\t${t.name}\t${t.deleted ? 'deleted' : 'active'}\t${t.revision}\t${t.domains.join(',')}\n`;

const show = (tenant: TenantView, json: boolean | undefined, human: string): void =>
  write(json ? `${JSON.stringify(tenant)}\n` : `${human}\n`);

/** `tenantry tenants create | list | get | update | delete | restore`, as the local system principal. */
export function registerTenantCommands(program: Command, withApplication: WithApplication): void {
  const tenants = program.command('tenants').description('manage tenants');

  tenants
    .command('create')
    .description('create a tenant')
    .requiredOption('--tenant <id>', 'tenant id', tenantIdArg)
    .requiredOption('--name <name>', 'display name')
    .option('--admin-user <userId>', 'user bound as admin in the new tenant')
    .addOption(new Option('--admin-username <userId>', 'the same as --admin-user (as Kestra spells it)').conflicts('adminUser'))
    .option('--domain <host>', 'a domain that selects this tenant (repeat for several)', collect)
    .option('--require-existing-namespace <bool>', 'true: flows only in namespaces created first', booleanArg)
    .option('--json', 'print the created tenant as JSON')
    .action(
      async (opts: {
        tenant: string;
        name: string;
        adminUser?: string;
        adminUsername?: string;
        domain?: string[];
        requireExistingNamespace?: boolean;
        json?: boolean;
      }) => {
        await withApplication(async ({ app, services }) => {
          const { tenant } = await services.tenants.create(systemCaller(app, 'cli'), {
            id: opts.tenant,
            name: opts.name,
            adminUserId: opts.adminUser ?? opts.adminUsername ?? null,
            domains: opts.domain ?? null,
            requireExistingNamespace: opts.requireExistingNamespace ?? null,
          });
          show(tenant, opts.json, `created tenant ${tenant.id} (${tenant.name})`);
        });
      },
    );

  tenants
    .command('list')
    .description('list tenants, one a line: id, name, active|deleted, revision, domains (tab-separated)')
    .option('--deleted', 'include deleted tenants')
    .option('--json', 'one JSON object a line')
    .action(async (opts: { deleted?: boolean; json?: boolean }) => {
      await withApplication(async ({ app, services }) => {
        for (const tenant of await services.tenants.list(systemCaller(app, 'cli'), opts.deleted === true)) {
          write(opts.json ? `${JSON.stringify(tenant)}\n` : line(tenant));
        }
      });
    });

  tenants
    .command('get')
    .description('show one tenant (deleted ones too)')
    .requiredOption('--tenant <id>', 'tenant id', tenantIdArg)
    .option('--json', 'as JSON')
    .action(async (opts: { tenant: string; json?: boolean }) => {
      await withApplication(async ({ app, services }) => {
        const tenant = await services.tenants.get(systemCaller(app, 'cli'), opts.tenant);
        if (!tenant) throw tenantNotFound(opts.tenant);
        write(opts.json ? `${JSON.stringify(tenant)}\n` : line(tenant));
      });
    });

  tenants
    .command('update')
    .description("change a tenant's name, domains or settings")
    .requiredOption('--tenant <id>', 'tenant id', tenantIdArg)
    .option('--name <name>', 'new display name')
    .option('--domain <host>', 'the domains that select this tenant, replacing the current ones (repeat for several)', collect)
    .option('--no-domains', 'remove every domain')
    .option('--require-existing-namespace <bool>', 'true or false', booleanArg)
    .option('--expected-revision <n>', 'refuse (exit 4) unless the tenant is at this revision', revisionArg)
    .option('--json', 'print the updated tenant as JSON')
    .action(
      async (opts: {
        tenant: string;
        name?: string;
        domain?: string[];
        domains?: boolean;
        requireExistingNamespace?: boolean;
        expectedRevision?: number;
        json?: boolean;
      }) => {
        if (opts.domains === false && opts.domain) throw new InvalidArgumentError('--domain and --no-domains exclude each other');
        await withApplication(async ({ app, services }) => {
          const { tenant } = await services.tenants.update(
            systemCaller(app, 'cli'),
            opts.tenant,
            {
              name: opts.name ?? null,
              domains: opts.domains === false ? [] : (opts.domain ?? null),
              requireExistingNamespace: opts.requireExistingNamespace ?? null,
            },
            opts.expectedRevision ?? null,
          );
          show(tenant, opts.json, `updated tenant ${tenant.id} (${tenant.name}), revision ${tenant.revision}`);
        });
      },
    );

  tenants
    .command('delete')
    .description('soft-delete a tenant; its secret values are destroyed (crypto-shredded), everything else can be restored')
    .requiredOption('--tenant <id>', 'tenant id', tenantIdArg)
    .option('--expected-revision <n>', 'refuse (exit 4) unless the tenant is at this revision', revisionArg)
    .option('--json', 'print the deleted tenant as JSON')
    .action(async (opts: { tenant: string; expectedRevision?: number; json?: boolean }) => {
      await withApplication(async ({ app, services }) => {
        const { tenant } = await services.tenants.delete(systemCaller(app, 'cli'), opts.tenant, opts.expectedRevision ?? null);
        show(tenant, opts.json, `deleted tenant ${tenant.id}; \`tenantry tenants restore --tenant ${tenant.id}\` brings it back`);
      });
    });

  tenants
    .command('restore')
    .description('bring a deleted tenant back (without its secret values)')
    .requiredOption('--tenant <id>', 'tenant id', tenantIdArg)
    .option('--expected-revision <n>', 'refuse (exit 4) unless the tenant is at this revision', revisionArg)
    .option('--json', 'print the restored tenant as JSON')
    .action(async (opts: { tenant: string; expectedRevision?: number; json?: boolean }) => {
      await withApplication(async ({ app, services }) => {
        const { tenant } = await services.tenants.restore(systemCaller(app, 'cli'), opts.tenant, opts.expectedRevision ?? null);
        show(tenant, opts.json, `restored tenant ${tenant.id} (${tenant.name})`);
      });
    });
}

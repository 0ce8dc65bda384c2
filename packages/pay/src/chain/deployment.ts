/**
 * The deployment file: where the escrow and its tokens live on one chain. Written by `bitcdn chain`
 * (local) or `bitcdn chain deploy` (a preset), read by every service that pays or gets paid.
 * Default location: `$BITCDN_HOME/deployment.json` (see {@link defaultDeploymentPath}).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { getAddress, isAddress, type Address } from 'viem'
import { z } from 'zod'
import { ChainError } from './errors.js'

const address = z
  .string()
  .refine((s) => isAddress(s, { strict: false }), { message: 'not a 0x-prefixed 20-byte address' })
  .transform((s) => getAddress(s))

/** Schema of the deployment file (JSON). */
export const deploymentSchema = z.object({
  /** EIP-155 chain id. */
  chainId: z.number().int().positive(),
  /** JSON-RPC endpoint the deployment was made through (no secrets: local or a public URL). */
  rpcUrl: z.string().min(1),
  /** The BitCDNEscrow address. */
  escrow: address,
  /** Tokens on the escrow's allowlist, by symbol. */
  tokens: z.object({ USDC: address, USDT: address.optional() }),
  /** Notice period of withdrawals and deallocations, in seconds. */
  withdrawDelaySeconds: z.number().int().nonnegative(),
  /** Block of the escrow's creation (a lower bound for event scans). */
  deployedAtBlock: z.number().int().nonnegative(),
  /** Preset name ('base-sepolia', ...) or 'local'. */
  network: z.string().min(1),
})

/** Where the escrow and its tokens live on one chain. */
export interface Deployment {
  chainId: number
  rpcUrl: string
  escrow: Address
  tokens: { USDC: Address; USDT?: Address }
  withdrawDelaySeconds: number
  deployedAtBlock: number
  network: string
}

/**
 * Checks an untrusted value against {@link deploymentSchema}; addresses come back checksummed.
 * @throws {ChainError} BITCDN_ERR_DEPLOYMENT_INVALID naming the bad fields.
 * @example parseDeployment(JSON.parse(text))
 */
export function parseDeployment(value: unknown, source = 'deployment'): Deployment {
  const parsed = deploymentSchema.safeParse(value)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    throw new ChainError('BITCDN_ERR_DEPLOYMENT_INVALID', `${source} is invalid: ${problems.join('; ')}`, {
      details: { problems },
    })
  }
  const d = parsed.data
  const tokens: Deployment['tokens'] = { USDC: d.tokens.USDC }
  if (d.tokens.USDT !== undefined) tokens.USDT = d.tokens.USDT
  return { ...d, tokens }
}

/**
 * Writes `deployment` to `file` atomically (temp file + rename), creating the directory.
 * @throws {ChainError} BITCDN_ERR_DEPLOYMENT_INVALID if `deployment` does not match the schema.
 * @example await writeDeployment(defaultDeploymentPath(), deployment)
 */
export async function writeDeployment(file: string, deployment: Deployment): Promise<void> {
  const valid = parseDeployment(deployment)
  await mkdir(dirname(file), { recursive: true })
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`
  await writeFile(tmp, `${JSON.stringify(valid, null, 2)}\n`, { mode: 0o644 })
  await rename(tmp, file)
}

/**
 * Reads and validates a deployment file.
 * @throws {ChainError} BITCDN_ERR_DEPLOYMENT_NOT_FOUND if the file is missing;
 *   BITCDN_ERR_DEPLOYMENT_INVALID if it is not JSON or does not match the schema.
 * @example const d = await loadDeployment(defaultDeploymentPath())
 */
export async function loadDeployment(file: string): Promise<Deployment> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ChainError(
        'BITCDN_ERR_DEPLOYMENT_NOT_FOUND',
        `no deployment file at ${file}; run \`bitcdn chain\` (local) or \`bitcdn chain deploy\` first`,
        { cause: err, details: { file } },
      )
    }
    throw new ChainError('BITCDN_ERR_DEPLOYMENT_INVALID', `cannot read deployment file ${file}: ${(err as Error).message}`, {
      cause: err,
      details: { file },
    })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new ChainError('BITCDN_ERR_DEPLOYMENT_INVALID', `deployment file ${file} is not valid JSON`, {
      cause: err,
      details: { file },
    })
  }
  return parseDeployment(json, `deployment file ${file}`)
}

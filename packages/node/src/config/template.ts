/**
 * The commented config file `bitcdn node init` writes. Every setting is present with its default
 * and a comment saying what it does and in which unit, so an operator edits it instead of reading
 * docs.
 */

/** Values `init` fills in (the rest are defaults). */
export interface ConfigTemplateInit {
  dataDir: string
  listenHost?: string
  listenPort?: number
  adminHost?: string
  adminPort?: number
  trackers?: string[]
  pricePerGiB?: string
  storageQuota?: string
  freeEnabled?: boolean
  deployment?: string
  /** Hub API URLs to register with. */
  hubs?: string[]
}

const q = (s: string): string => JSON.stringify(s) // TOML basic strings share JSON's escapes

/**
 * Renders config.toml.
 * @example await writeFile(path, renderConfigTemplate({ dataDir: '/srv/bitcdn' }))
 */
export function renderConfigTemplate(t: ConfigTemplateInit): string {
  return `# bitcdn node — configuration (TOML). Edit, then restart the node: bitcdn node start
# Amounts are in whole tokens with up to 6 decimals ("0.50" = fifty cents of USDC).
# Sizes take KiB/MiB/GiB/TiB ("50GiB"). Unknown keys are errors, so a typo is caught at start.

# Where downloaded and cached content is stored (one folder per torrent).
data_dir = ${q(t.dataDir)}

# Most bytes the node stores in data_dir. Pinned content always stays; cached (unpinned)
# content is evicted, least valuable first (least earned and served per byte), to make room.
storage_quota = ${q(t.storageQuota ?? '50GiB')}

# Trackers every seeded torrent is announced to, on top of the torrent's own.
# A tracker that is down is retried with backoff (5 s doubling to 5 min) until it answers.
trackers = [${(t.trackers ?? []).map(q).join(', ')}]

[listen]
# Address and TCP port BitTorrent peers connect to. "0.0.0.0" accepts peers from anywhere;
# "127.0.0.1" only from this machine.
host = ${q(t.listenHost ?? '127.0.0.1')}
port = ${t.listenPort ?? 6881}

[price]
# Token buyers pay in: USDC or USDT (as listed in the deployment file).
token = "USDC"
# Price of one GiB (2^30 bytes) of verified data served, in tokens.
per_gib = ${q(t.pricePerGiB ?? '0.50')}
# Data served to a new buyer before its first cheque, in tokens (from its free escrow balance).
soft_allowance = "0.01"
# A buyer's unpaid debt is written off once it has had no delivery and no accepted cheque here
# for this many hours, and its credit starts again at the first window (one piece's worth). A
# buyer that never pays then gets at most one first window per period; one whose blocks a relay
# kept is served again after it. 0 or "off": a debt stays until paid (such a buyer is never
# served again). Written-off amounts: metric bitcdn_credit_written_off_units_total.
forgive_unpaid_after_hours = 24

[chain]
# Deployment file (chain id, escrow, tokens, RPC URL), as written by \`bitcdn chain\` or
# \`bitcdn chain deploy\`. Empty: $BITCDN_HOME/deployment.json. Without one the node serves
# only what the free policy allows and cashes nothing out.
deployment = ${q(t.deployment ?? '')}
# JSON-RPC URL; empty: the deployment file's (or the preset's environment variable).
rpc_url = ""
# Network preset the deployment must be on (base, base-sepolia, arbitrum-one, ...); empty: any.
preset = ""

[auto_pin]
# Pin what publishers announce to these hubs' catalogues (e.g. a gateway's pull-zone objects),
# then serve it like any pin. Off while hubs is empty or quota is 0.
hubs = []
# Only these publishers' entries (0x addresses); required when hubs and quota are set. Each entry's
# signature is checked here too, not only by the hub.
publishers = []
# Storage auto-pinned content may take, and the largest single entry.
quota = "0"
max_object = "4GiB"
# Seconds between catalogue polls.
interval_s = 30
# Fetch .torrent (xs) URLs and accept web seeds at loopback and private addresses (a lab or a
# LAN). Off: only public addresses, so a publisher cannot aim the node at its own network.
allow_private_sources = false

[free]
# Serve peers that do not pay (plain BitTorrent clients) all content. Off: they are choked.
enabled = ${t.freeEnabled ? 'true' : 'false'}
# Content served free even when enabled = false (a publisher sponsors it): info-hashes.
info_hashes = []

[cashout]
# Claim a payer's cheques on chain once the unsettled total reaches this, in tokens…
threshold = "5"
# …or once the oldest unclaimed cheque is this old, in hours.
max_age_hours = 24
# Never send a claim above this gas price, in gwei (0: no cap). It waits instead.
gas_price_cap_gwei = 0
# Blocks a claim must be buried under before it counts as claimed.
confirmations = 2
# Where claimed earnings are withdrawn to; empty: the node's own address.
withdraw_to = ""

[admin]
# The admin HTTP API (status, pins, earnings, cash-out, /metrics, /openapi.json).
# Every request needs the bearer token in $BITCDN_HOME/node/admin-token.
# Keep it on loopback unless a firewall or proxy guards it.
host = ${q(t.adminHost ?? '127.0.0.1')}
port = ${t.adminPort ?? 8790}

[hub]
# Hubs this node registers with (their API URLs, e.g. "https://hub.example.org"): at start and
# every minute it posts a registration signed by its payout key (endpoint, price, pinned content,
# bytes served), so the hub lists and probes it. Empty: it registers nowhere.
urls = [${(t.hubs ?? []).map(q).join(', ')}]
# host:port buyers and the hub's prober reach the node at; empty: the [listen] address (which
# must then not be 0.0.0.0).
endpoint = ""
# Free text shown by the hub, e.g. "eu-west".
region = ""
`
}

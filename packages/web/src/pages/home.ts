/** Home: what BitCDN is and how it works, for CDNs, new services and node operators. */
export function renderHome(main: HTMLElement): void {
  main.innerHTML = `
  <section class="hero">
    <h1>Content delivery paid per verified byte</h1>
    <p class="lead">BitCDN delivers files over the BitTorrent wire protocol. Independent nodes seed the content and
    are paid in USDC for every byte a buyer verifies — through signed off-chain cheques that an escrow contract settles in batches.</p>
    <p><a class="button" href="/run-a-node" data-link>Run a node</a> <a class="button secondary" href="/network" data-link>See the network live</a></p>
  </section>
  <section>
    <h2>How it works</h2>
    <ol class="steps">
      <li><strong>Publish.</strong> Content becomes a torrent whose web seed is your origin; the hub's catalogue lists it and nodes pin it.</li>
      <li><strong>Deposit.</strong> A buyer (a gateway or an app) deposits USDC into the escrow contract as collateral.</li>
      <li><strong>Fetch and pay.</strong> The buyer downloads pieces from several nodes at once and, as each piece checks against its hash, signs an EIP-712 cheque for those bytes over the <code>bitcdn_pay</code> extension.</li>
      <li><strong>Settle.</strong> Nodes claim their cheques from the escrow in batches; the claims are public on-chain events, so anyone can check what was paid.</li>
    </ol>
  </section>
  <section class="cards">
    <article>
      <h2>For CDNs</h2>
      <p>Put the gateway behind your edge (nginx example included) as an origin for <code>/t/{infohash}/…</code> or as an
      overflow pull zone that serves when your origin is down. Cache hits stay yours; misses come from the swarm.</p>
      <a href="/developers" data-link>Gateway integration</a>
    </article>
    <article>
      <h2>For new services</h2>
      <p>Pay only for bytes actually delivered and verified, with no contract and no minimum. The hub's API and the gateway
      are documented with OpenAPI; plain HTTP range requests work through the gateway.</p>
      <a href="/developers" data-link>APIs</a>
    </article>
    <article>
      <h2>For operators</h2>
      <p>Run <code>bitcdn node</code> on a machine with disk and upload, set your price per GiB, and register at a hub.
      You are paid for what buyers verify; the network page shows the demand that was actually paid for.</p>
      <a href="/run-a-node" data-link>Onboarding and live check</a>
    </article>
  </section>`
}

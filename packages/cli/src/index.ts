export { main, buildProgram } from './main.js'
export { startDevnet, type Devnet, type DevnetNode, type DevnetOptions } from './devnet/start-devnet.js'

/**
 * The BitCDN tracker server (HTTP + UDP announce and scrape).
 */
export {
  createTrackerServer,
  type TrackerServer,
  type TrackerServerInit,
  type TrackerServerComponents,
  type TrackerStats,
  type TrackerTorrentStats,
} from './tracker-server.js'
export { TrackerErrorCode } from './errors.js'

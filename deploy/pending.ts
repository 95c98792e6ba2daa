/**
 * PENDING: names the deployment files use that teammates' branches add (COORDINATION.md's fixed
 * interfaces) and that this branch's services do not have yet. The deploy tests accept these
 * instead of finding them in a running service. The lead empties each list as the branch that
 * brings the names lands; a test fails once a pending name really exists, so none lingers.
 */

/** Metrics the dashboard and the rules use, by the branch that adds them. */
export const PENDING_METRICS: Record<string, string[]> = {
  edge: ["gateway_shed_total", "gateway_rate_limited_total", "gateway_open_connections", "gateway_buffered_bytes"],
  auth: ["auth_password_hash_seconds_bucket", "auth_login_shed_total"],
};

/** Settings the manifests give a service, by service, that its config does not read yet. */
export const PENDING_SETTINGS: Record<string, string[]> = {
  // edge: the admin listener for /metrics, /health and /ready.
  gateway: ["GATEWAY_ADMIN_HOST", "GATEWAY_ADMIN_PORT"],
};

/** Ports the manifests declare that no running service of this branch listens on yet. */
export const PENDING_PORTS: Record<string, number[]> = {
  gateway: [8100],
};

/** Once before all tests: the dashboard built (if its sources changed), so no two tests build it at once. */
import { buildDashboard } from '../dashboard/build.ts';

export default async function setup(): Promise<void> {
  await buildDashboard();
}

/** The demo's browser journey in webkit (the body: support/journey.ts). `BROWSER_ENGINES` may leave it out. */
import { describeJourney } from './support/journey.js';

describeJourney('webkit');

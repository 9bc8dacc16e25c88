/** The demo's browser journey in firefox (the body: support/journey.ts). `BROWSER_ENGINES` may leave it out. */
import { describeJourney } from './support/journey.js';

describeJourney('firefox');

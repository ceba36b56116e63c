// The baseline for the synth benchmark: an empty one-stack CDK app on the same CLI and library.
import { App, Stack } from 'aws-cdk-lib';

const app = new App();
new Stack(app, 'Empty', { env: { account: '111111111111', region: 'eu-west-1' } });
app.synth();

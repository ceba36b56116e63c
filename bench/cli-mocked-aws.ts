// Preloaded by the bench (`node -r tsx/cjs -r ./bench/cli-mocked-aws.ts dist/bin/shipshape.js ...`):
// answers the CLI's AWS calls from the in-memory environment the CLI tests use, so start-up of
// `rollback --dry-run` is measured without an AWS account (the SDK clients still load and run).
import { FakeWorld } from '../test/helpers/cli';

new FakeWorld();

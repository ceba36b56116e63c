#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { buildShipshapeApp } from '../lib/app';

buildShipshapeApp(new App());

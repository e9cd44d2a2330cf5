// APPSYNC_JS rules for namespace handlers (run by `make lint`): AppSync's own linter, @aws-appsync/eslint-plugin.
import appsync from '@aws-appsync/eslint-plugin';

export default [{ ...appsync.configs.base, files: ['handlers/**/*.js'] }];

// The live lint's rules, packed for bpmn-js-bpmnlint by hand (esbuild has no bpmnlint plug-in): bpmnlint's
// `recommended` set plus Kesu's rules, served to the linter from a static resolver.
import StaticResolver from 'bpmnlint/lib/resolver/static-resolver';
import recommended from 'bpmnlint/config/recommended';
import adHocSubProcess from 'bpmnlint/rules/ad-hoc-sub-process';
import conditionalFlows from 'bpmnlint/rules/conditional-flows';
import endEventRequired from 'bpmnlint/rules/end-event-required';
import eventBasedGateway from 'bpmnlint/rules/event-based-gateway';
import eventSubProcessTypedStartEvent from 'bpmnlint/rules/event-sub-process-typed-start-event';
import fakeJoin from 'bpmnlint/rules/fake-join';
import global from 'bpmnlint/rules/global';
import labelRequired from 'bpmnlint/rules/label-required';
import linkEvent from 'bpmnlint/rules/link-event';
import noBpmndi from 'bpmnlint/rules/no-bpmndi';
import noComplexGateway from 'bpmnlint/rules/no-complex-gateway';
import noDisconnected from 'bpmnlint/rules/no-disconnected';
import noDuplicateSequenceFlows from 'bpmnlint/rules/no-duplicate-sequence-flows';
import noGatewayJoinFork from 'bpmnlint/rules/no-gateway-join-fork';
import noImplicitEnd from 'bpmnlint/rules/no-implicit-end';
import noImplicitSplit from 'bpmnlint/rules/no-implicit-split';
import noImplicitStart from 'bpmnlint/rules/no-implicit-start';
import noInclusiveGateway from 'bpmnlint/rules/no-inclusive-gateway';
import noOverlappingElements from 'bpmnlint/rules/no-overlapping-elements';
import singleBlankStartEvent from 'bpmnlint/rules/single-blank-start-event';
import singleEventDefinition from 'bpmnlint/rules/single-event-definition';
import startEventRequired from 'bpmnlint/rules/start-event-required';
import subProcessBlankStartEvent from 'bpmnlint/rules/sub-process-blank-start-event';
import superfluousGateway from 'bpmnlint/rules/superfluous-gateway';
import superfluousLabel from 'bpmnlint/rules/superfluous-label';
import superfluousTermination from 'bpmnlint/rules/superfluous-termination';

import { flowRules, formFieldTypes, pythonExpressions, supportedElements, userTaskOffered } from './kesu-rules';

const RECOMMENDED_RULES = {
  'ad-hoc-sub-process': adHocSubProcess,
  'conditional-flows': conditionalFlows,
  'end-event-required': endEventRequired,
  'event-based-gateway': eventBasedGateway,
  'event-sub-process-typed-start-event': eventSubProcessTypedStartEvent,
  'fake-join': fakeJoin,
  global,
  'label-required': labelRequired,
  'link-event': linkEvent,
  'no-bpmndi': noBpmndi,
  'no-complex-gateway': noComplexGateway,
  'no-disconnected': noDisconnected,
  'no-duplicate-sequence-flows': noDuplicateSequenceFlows,
  'no-gateway-join-fork': noGatewayJoinFork,
  'no-implicit-split': noImplicitSplit,
  'no-implicit-end': noImplicitEnd,
  'no-implicit-start': noImplicitStart,
  'no-inclusive-gateway': noInclusiveGateway,
  'no-overlapping-elements': noOverlappingElements,
  'single-blank-start-event': singleBlankStartEvent,
  'single-event-definition': singleEventDefinition,
  'start-event-required': startEventRequired,
  'sub-process-blank-start-event': subProcessBlankStartEvent,
  'superfluous-gateway': superfluousGateway,
  'superfluous-label': superfluousLabel,
  'superfluous-termination': superfluousTermination,
};

// Recommended rules Kesu's flow rule replaces with the server's words for the same finding.
const REPLACED = { 'conditional-flows': 'off', 'no-implicit-end': 'off' };

function kesuRules(groups) {
  return {
    'supported-elements': supportedElements,
    'python-expressions': pythonExpressions,
    'form-field-types': formFieldTypes,
    flow: flowRules,
    'user-task-offered': userTaskOffered(groups),
  };
}

function cacheEntries(pkg, rules) {
  return Object.entries(rules).map(([name, factory]) => [`rule:${pkg}/${name}`, factory]);
}

/** The `{config, resolver}` bpmn-js-bpmnlint wants, with the company's group names for the assignment rule. */
export default function lintConfig(groups) {
  const rules = kesuRules(groups);
  return {
    config: {
      extends: 'bpmnlint:recommended',
      rules: { ...REPLACED, ...Object.fromEntries(Object.keys(rules).map((name) => [`kesu/${name}`, 'error'])) },
    },
    resolver: new StaticResolver(Object.fromEntries([
      ['config:bpmnlint/recommended', recommended],
      ...cacheEntries('bpmnlint', RECOMMENDED_RULES),
      ...cacheEntries('bpmnlint-plugin-kesu', rules),
    ])),
  };
}

// The agent of the quickstart: three steps, a checkpoint after each. On a resumed run it
// skips every step its checkpoint says is done.
import { BaseAgent, type AgentClass } from '@baton/core';

export interface PipelineInput {
  topic: string;
}

export interface PipelineState {
  sources?: string[];
  findings?: string[];
  report?: string;
}

export interface StepEvent {
  kind: 'step';
  worker: string;
  topic: string;
  step: string;
  resumedFrom: string | null;
}

/** How long each simulated step takes (ms). */
export const STEP_MS = Number(process.env.BATON_STEP_MS ?? 700);

const wait = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason);
    });
  });

export function pipelineAgent(worker: string, report: (e: StepEvent) => void): AgentClass<PipelineInput, PipelineState, PipelineState> {
  return class ResearchPipeline extends BaseAgent<PipelineInput, PipelineState, PipelineState> {
    async execute(input: PipelineInput): Promise<PipelineState> {
      let resumedFrom = this.getCheckpointToken(input);
      let state: PipelineState = this.getCheckpointData(input) ?? {};
      const step = async (name: string, run: () => PipelineState) => {
        report({ kind: 'step', worker, topic: input.topic, step: name, resumedFrom });
        resumedFrom = null;
        await wait(STEP_MS, this.signal);
        state = run();
        await this.saveCheckpoint(`${name}-complete`, state, { flush: true });
      };
      if (!state.sources) await step('collect', () => ({ sources: [`${input.topic}-paper-1`, `${input.topic}-paper-2`] }));
      if (!state.findings) await step('analyse', () => ({ ...state, findings: state.sources!.map((s) => `insight from ${s}`) }));
      if (!state.report) await step('report', () => ({ ...state, report: `${input.topic}: ${state.findings!.length} findings` }));
      return state;
    }
  };
}

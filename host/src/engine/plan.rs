//! Plans as RG.GETEXECUTION shows them: each operation expands to RedisGears' engine steps
//! (`flatmap` is a mapper then a flatmap, `groupby` is extractkey, repartition, accumulatebykey
//! and a record mapper, ...), after an implicit first step that converts reader records.

use std::time::Duration;

use super::execution::StepProfile;
use crate::runtime::plan::{PlanSpec, StepKind};

fn step(kind: &'static str, name: &'static str, arg: String) -> StepProfile {
    StepProfile {
        kind,
        name,
        arg,
        duration: Duration::ZERO,
    }
}

/// The engine steps of `plan`, in execution order, and for each operation of the plan the
/// index of the engine step its profile time is attributed to.
pub fn expand(plan: &PlanSpec) -> (Vec<StepProfile>, Vec<usize>) {
    let n = plan.naming;
    let mut out = vec![step("map", n.to_record, String::new())];
    let mut owner = Vec::with_capacity(plan.steps.len());
    for s in &plan.steps {
        let arg = |i: usize| {
            s.callbacks
                .get(i)
                .map(|c| c.describe.clone())
                .unwrap_or_default()
        };
        match s.kind {
            StepKind::Map => {
                owner.push(out.len());
                out.push(step("map", n.mapper, arg(0)));
            }
            StepKind::FlatMap => {
                owner.push(out.len());
                out.push(step("map", n.flat_mapper, arg(0)));
                out.push(step("flatmap", "flatmap", String::new()));
            }
            StepKind::Filter => {
                owner.push(out.len());
                out.push(step("filter", n.filter, arg(0)));
            }
            StepKind::ForEach => {
                owner.push(out.len());
                out.push(step("foreach", n.foreach, arg(0)));
            }
            StepKind::Accumulate => {
                owner.push(out.len());
                out.push(step("accumulate", n.accumulate, arg(0)));
            }
            StepKind::LocalGroupBy | StepKind::GroupBy => {
                out.push(step("extractkey", n.extractor, arg(0)));
                if s.kind == StepKind::GroupBy {
                    out.push(step("repartition", "repartition", String::new()));
                }
                owner.push(out.len());
                out.push(step("accumulatebykey", n.accumulate_by_key, arg(1)));
                out.push(step("map", n.to_record, String::new()));
            }
            StepKind::BatchGroupBy => {
                out.push(step("extractkey", n.extractor, arg(0)));
                out.push(step("repartition", "repartition", String::new()));
                out.push(step("group", "group", String::new()));
                owner.push(out.len());
                out.push(step("reduce", n.reducer, arg(1)));
                out.push(step("map", n.to_record, String::new()));
            }
            StepKind::Repartition => {
                owner.push(out.len());
                out.push(step("extractkey", n.extractor, arg(0)));
                out.push(step("repartition", "repartition", String::new()));
                out.push(step("map", "GetValueMapper", String::new()));
            }
            StepKind::Collect => {
                owner.push(out.len());
                out.push(step("collect", "collect", String::new()));
            }
            StepKind::Limit => {
                owner.push(out.len());
                out.push(step("limit", "limit", String::new()));
            }
        }
    }
    (out, owner)
}

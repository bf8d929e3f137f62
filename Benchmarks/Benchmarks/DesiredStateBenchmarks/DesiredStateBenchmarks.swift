import AsgardBenchFixtures
import AsgardCore
import Benchmark

/// Desired-state validation and planning on 10,000 generated objects, and reading 1 MiB YAML
/// files of hostile shapes (see BENCHMARKS.md).
///
/// The fixture is generated and checked once, before any measurement: it must load with no
/// diagnostic into exactly 10,000 objects, plan to 10,000 creates against an empty observed
/// state and to nothing against the converged one; the process stops otherwise. The large YAML
/// texts are read (and the large resource loaded) once and checked the same way.
let benchmarks: @Sendable () -> Void = {
    let fixture = CheckedFixture(.tenThousand)
    let flowSequence = LargeYAMLFixture.flowSequence.checked().text
    let blockMapping = LargeYAMLFixture.blockMapping.checked().text
    let largeResource = LargeYAMLFixture.checkedResourceSources()
    let sources = fixture.sources
    let state = fixture.state
    let empty = ObservedState()
    let converged = empty.applying(plan(desired: state, observed: empty), from: state)

    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .peakMemoryResident],
        timeUnits: .milliseconds,
        warmupIterations: 3,
        maxDuration: .seconds(20),
        maxIterations: 30
    )

    Benchmark("load 10k objects (parse + strict decode + cross-validation)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(DesiredStateLoader().load(sources))
        }
    }

    Benchmark("plan 10k objects vs empty observed state (10k creates)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(plan(desired: state, observed: empty))
        }
    }

    Benchmark("plan 10k objects vs converged observed state (0 actions)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(plan(desired: state, observed: converged))
        }
    }

    Benchmark("load + plan 10k objects vs converged observed state (dry run, no file I/O)") { benchmark in
        for _ in benchmark.scaledIterations {
            let loaded = DesiredStateLoader().load(sources)
            precondition(loaded.isValid)
            blackHole(plan(desired: loaded.state, observed: converged))
        }
    }

    Benchmark("read 1 MiB YAML: flow list of 80,000 items on one line") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try YAMLReader().documents(flowSequence))
        }
    }

    Benchmark("read 1 MiB YAML: block mapping of 48,000 pairs") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try YAMLReader().documents(blockMapping))
        }
    }

    Benchmark("load a 1 MiB Resource file (parameter list of 80,000 items) with its service and project") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(DesiredStateLoader().load(largeResource))
        }
    }
}

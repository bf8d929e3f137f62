/// Checks what no single object can check alone: unique ids, references, classification
/// floors, model routing. Returns the state built from the objects and every problem.
func crossValidate(_ loaded: [LoadedObject]) -> (DesiredState, [Diagnostic]) {
    var diagnostics: [Diagnostic] = []
    var first: [ObjectRef: LoadedObject] = [:]
    var unique: [LoadedObject] = []
    for item in loaded {
        let ref = item.object.ref
        if let earlier = first[ref] {
            diagnostics.append(item.diagnostic("id", "duplicate id: \(ref) is already declared at \(earlier.location)"))
            continue
        }
        first[ref] = item
        unique.append(item)
    }
    let state = DesiredState(unique.map(\.object))

    // Provisionable service names and model ids are global namespaces.
    var provisionableOwner: [String: String] = [:]
    var modelOwner: [String: String] = [:]
    for item in unique {
        guard case .service(let service) = item.object else { continue }
        let expected = "services/\(service.id)/service.yaml"
        if item.relative != expected {
            diagnostics.append(item.diagnostic("id", "a Service manifest must live at \(expected) under the desired-state directory"))
        }
        for (index, p) in service.provisionable.enumerated() {
            if let owner = provisionableOwner[p.name] {
                diagnostics.append(
                    item.diagnostic("provisionable[\(index)].name", "provisionable service \"\(p.name)\" is already offered by Service/\(owner)"))
            } else {
                provisionableOwner[p.name] = service.id
            }
        }
        for (index, model) in (service.inference?.models ?? []).enumerated() {
            let field = "inference.models[\(index)].id"
            if model.id.split(separator: "/").first.map(String.init) != service.id {
                diagnostics.append(
                    item.diagnostic(field, "model \"\(model.id)\" must be named \(service.id)/<name>: a vendor routes only its own models"))
            }
            if let owner = modelOwner[model.id] {
                diagnostics.append(item.diagnostic(field, "model \"\(model.id)\" is already routed by \(owner)"))
            } else {
                modelOwner[model.id] = "Service/\(service.id)"
            }
        }
    }

    let projectNeedsApprovers = { (project: Project, item: LoadedObject, field: String, serviceName: String) -> Diagnostic? in
        guard project.approvers.isEmpty, state.provisionable[serviceName]?.service.tier == .human else { return nil }
        return item.diagnostic(field, "\"\(serviceName)\" is human-tier but Project/\(project.id) lists no approvers, so it could never be approved")
    }
    let floorCheck = { (project: Project, item: LoadedObject, field: String, serviceName: String) -> Diagnostic? in
        guard let floor = state.provisionable[serviceName]?.service.classificationFloor, project.classification < floor else { return nil }
        return item.diagnostic(
            field, "Project/\(project.id) is classified \(project.classification.name), below the \(floor.name) floor of \"\(serviceName)\"")
    }

    // A digest authenticates one key: two keys with one digest would make a caller's project
    // and limits depend on which one the gateway happened to find.
    var digestOwner: [String: LoadedObject] = [:]
    for item in unique {
        guard case .key(let key) = item.object else { continue }
        if let earlier = digestOwner[key.digest] {
            diagnostics.append(
                item.diagnostic(
                    "digest",
                    "already the digest of \(earlier.object.ref) "
                        + "at \(earlier.location(of: "digest")): one secret must authenticate one key (mint another with `asgard keygen`)"))
        } else {
            digestOwner[key.digest] = item
        }
    }

    diagnostics += peopleProblems(unique, state, keyDigests: digestOwner)
    diagnostics += openAIProjectProblems(unique)

    for item in unique {
        switch item.object {
        case .service, .person, .project:
            continue
        case .key(let key):
            guard let project = state.projects[key.project] else {
                diagnostics.append(item.diagnostic("project", "unknown project \"\(key.project)\" (no Project with that id)"))
                continue
            }
            if key.maxDataClass > project.classification {
                diagnostics.append(
                    item.diagnostic(
                        "max_data_class",
                        "\(key.maxDataClass.name) is above the classification of Project/\(project.id) (\(project.classification.name))"))
            }
            for (index, model) in key.allowedModels.enumerated() {
                let field = "allowed_models[\(index)]"
                if isVendorWildcard(model) {
                    let vendor = String(model.dropLast(2))
                    if state.services[vendor]?.inference == nil {
                        diagnostics.append(item.diagnostic(field, "no Service \"\(vendor)\" with inference to allow models of"))
                    }
                } else if let endpoint = state.servingEndpoints.values.first(where: { $0.model == model }) {
                    if !endpoint.serves(project: key.project) {
                        diagnostics.append(
                            item.diagnostic(
                                field,
                                "model \"\(model)\" is ServingEndpoint/\(endpoint.id) of Project/\(endpoint.project), "
                                    + "which does not share it with Project/\(key.project) (its shared_with)"))
                    }
                } else if modelOwner[model] == nil {
                    diagnostics.append(item.diagnostic(field, "unknown model \"\(model)\" (no Service or ServingEndpoint routes it)"))
                }
            }
        case .resource(let resource):
            let project = state.projects[resource.project]
            if project == nil {
                diagnostics.append(item.diagnostic("project", "unknown project \"\(resource.project)\" (no Project with that id)"))
            }
            guard state.provisionable[resource.service] != nil else {
                diagnostics.append(
                    item.diagnostic(
                        "service",
                        "\"\(resource.service)\" is not a registered provisionable service (\(provisionableOwner.isEmpty ? "none is registered" : "registered: " + provisionableOwner.keys.sorted().joined(separator: ", ")))"
                    ))
                continue
            }
            if let project {
                diagnostics += [
                    floorCheck(project, item, "service", resource.service), projectNeedsApprovers(project, item, "service", resource.service),
                ].compactMap { $0 }
            }
        case .servingEndpoint(let endpoint):
            let project = state.projects[endpoint.project]
            if project == nil {
                diagnostics.append(item.diagnostic("project", "unknown project \"\(endpoint.project)\" (no Project with that id)"))
            }
            guard let vendor = state.services[endpoint.service] else {
                diagnostics.append(item.diagnostic("service", "unknown vendor \"\(endpoint.service)\" (no Service with that id)"))
                continue
            }
            if vendor.inference == nil {
                diagnostics.append(
                    item.diagnostic("service", "Service/\(vendor.id) has no inference section, so the gateway cannot route to its endpoints"))
            }
            if !vendor.provisionable.contains(where: { $0.name == endpoint.provisioner }) {
                diagnostics.append(
                    item.diagnostic("provisioner", "\"\(endpoint.provisioner)\" is not a provisionable service of Service/\(vendor.id)"))
            } else if let project {
                diagnostics += [
                    floorCheck(project, item, "provisioner", endpoint.provisioner),
                    projectNeedsApprovers(project, item, "provisioner", endpoint.provisioner),
                ].compactMap { $0 }
            }
            if endpoint.model.split(separator: "/").first.map(String.init) != vendor.id {
                diagnostics.append(
                    item.diagnostic("model", "model \"\(endpoint.model)\" must be named \(vendor.id)/<name>: a vendor routes only its own models"))
            }
            if let owner = modelOwner[endpoint.model] {
                diagnostics.append(item.diagnostic("model", "model \"\(endpoint.model)\" is already routed by \(owner)"))
            } else {
                modelOwner[endpoint.model] = "ServingEndpoint/\(endpoint.id)"
            }
            var shared: Set<String> = []
            for (index, other) in (endpoint.sharedWith ?? []).enumerated() {
                let field = "shared_with[\(index)]"
                if state.projects[other] == nil {
                    diagnostics.append(item.diagnostic(field, "unknown project \"\(other)\" (no Project with that id)"))
                } else if other == endpoint.project {
                    diagnostics.append(item.diagnostic(field, "\"\(other)\" is the endpoint's own project, whose keys may call it anyway"))
                } else if !shared.insert(other).inserted {
                    diagnostics.append(item.diagnostic(field, "\"\(other)\" is named twice"))
                }
            }
            if let project, endpoint.maxDataClass > project.classification {
                diagnostics.append(
                    item.diagnostic(
                        "max_data_class",
                        "\(endpoint.maxDataClass.name) is above the classification of Project/\(project.id) (\(project.classification.name))"))
            }
        }
    }
    return (state, diagnostics)
}

/// An OpenAI project's spend is one Asgard project's: if two projects named it, the
/// `openai-costs` source would have to count its money twice or pick one by chance.
private func openAIProjectProblems(_ unique: [LoadedObject]) -> [Diagnostic] {
    var diagnostics: [Diagnostic] = []
    var owner: [String: (item: LoadedObject, field: String)] = [:]
    for item in unique {
        guard case .project(let project) = item.object else { continue }
        for (index, id) in project.openAIProjectIDs.enumerated() {
            let field = "openai_project_ids[\(index)]"
            if let earlier = owner[id] {
                diagnostics.append(
                    item.diagnostic(
                        field,
                        "OpenAI project \(id) already belongs to \(earlier.item.object.ref) at \(earlier.item.location(of: earlier.field)): "
                            + "an OpenAI project's spend is one Asgard project's"))
            } else {
                owner[id] = (item, field)
            }
        }
    }
    return diagnostics
}

/// People are who approves and who requests: one person per email and per credential (and no
/// credential that is also a key's digest), every approver a person, every `requested_by` a
/// person, and the owner a person wherever the owner is the requester of a human-tier request.
private func peopleProblems(_ unique: [LoadedObject], _ state: DesiredState, keyDigests: [String: LoadedObject]) -> [Diagnostic] {
    var diagnostics: [Diagnostic] = []
    var emailOwner: [String: LoadedObject] = [:]
    var credentialOwner: [String: LoadedObject] = [:]
    for item in unique {
        guard case .person(let person) = item.object else { continue }
        if let earlier = emailOwner[person.email] {
            diagnostics.append(item.diagnostic("email", "\(person.email) is already \(earlier.object.ref) at \(earlier.location(of: "email")): one person, one email"))
        } else {
            emailOwner[person.email] = item
        }
        if let earlier = credentialOwner[person.credential] ?? keyDigests[person.credential] {
            diagnostics.append(
                item.diagnostic(
                    "credential",
                    "already the digest of \(earlier.object.ref) at \(earlier.location(of: earlier.object.ref.kind == .key ? "digest" : "credential")): "
                        + "one secret must authenticate one person (mint another with `asgard keygen --person`)"))
        } else {
            credentialOwner[person.credential] = item
        }
    }
    let notAPerson = { (email: String, role: String) -> String in
        "\(role) \(email) is not a Person in desired state: add one (kind: Person, with a credential from `asgard keygen --person`)"
    }
    for item in unique {
        switch item.object {
        case .project(let project):
            for (index, approver) in project.approvers.enumerated() where emailOwner[approver] == nil {
                diagnostics.append(item.diagnostic("approvers[\(index)]", notAPerson(approver, "approver")))
            }
        case .resource, .servingEndpoint:
            if let requestedBy = item.object.requestedBy {
                if emailOwner[requestedBy] == nil { diagnostics.append(item.diagnostic("requested_by", notAPerson(requestedBy, "requester"))) }
            } else if state.tier(of: item.object) == .human, let project = item.object.projectID.flatMap({ state.projects[$0] }),
                emailOwner[project.owner] == nil
            {
                diagnostics.append(
                    item.diagnostic(
                        "project",
                        notAPerson(project.owner, "owner")
                            + "; the owner of Project/\(project.id) is the requester of this human-tier request, which names no requested_by"))
            }
        case .service, .person, .key:
            continue
        }
    }
    return diagnostics
}

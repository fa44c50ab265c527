"""The API docs' order of sections: those named in SPECTACULAR_SETTINGS["TAGS"] first, in that order,
then any other an operation uses, and the prototype's calls always last (kept for old clients)."""


def prototype_last(result, generator, request, public):
    tags = list(result.get("tags") or [])
    named = {t["name"] for t in tags}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for name in operation.get("tags", []) if isinstance(operation, dict) else []:
                if name not in named:
                    named.add(name)
                    tags.append({"name": name})
    result["tags"] = [t for t in tags if t["name"] != "prototype"] + [t for t in tags if t["name"] == "prototype"]
    return result

"""An import-linter contract type the built-in ones lack: no import cycle among modules at all.

import-linter's layers contracts keep the apps one way; this one also catches a cycle inside an
app (a selector that imports a service that imports the selector), counting imports made
inside functions, which grimp reads like any other.
"""

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output
from importlinter.application import contract_utils
from importlinter.application.contract_utils import AlertLevel


class AcyclicModulesContract(Contract):
    """No module reaches itself through its imports.

    Options:
        - ignore_imports: imports left out of the check (import expressions), for the one allowed
          exception: a service importing its own app's task inside a function, to enqueue it.
    """

    type_name = "acyclic_modules"

    ignore_imports = fields.SetField(subfield=fields.ImportExpressionField(), required=False)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        removal = contract_utils.remove_ignored_imports_and_report(
            graph=graph, ignore_imports=self.ignore_imports, unmatched_alerting=AlertLevel.ERROR
        )
        cycles = [sorted(component) for component in _strongly_connected(graph) if len(component) > 1]
        return ContractCheck(
            kept=not cycles,
            warnings=list(removal.warnings),
            ignored_import_count=removal.ignored_import_count,
            metadata={"cycles": sorted(cycles), "graph": graph},
        )

    def render_broken_contract(self, check: ContractCheck) -> None:
        graph = check.metadata["graph"]
        for cycle in check.metadata["cycles"]:
            output.print_error(f"Import cycle among {len(cycle)} modules:", bold=True)
            members = set(cycle)
            for importer in cycle:
                for imported in sorted(graph.find_modules_directly_imported_by(importer) & members):
                    lines = graph.get_import_details(importer=importer, imported=imported)
                    where = ", ".join(f"l.{line['line_number']}" for line in lines)
                    output.print_error(f"  {importer} -> {imported} ({where})")
            output.new_line()


def _strongly_connected(graph: ImportGraph) -> list[set[str]]:
    """Tarjan's strongly connected components of the module graph, iteratively (no recursion limit)."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = lowlink[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = lowlink[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.find_modules_directly_imported_by(successor)))))
                    break
                if successor in on_stack:
                    lowlink[module] = min(lowlink[module], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    lowlink[parent] = min(lowlink[parent], lowlink[module])
                if lowlink[module] == index[module]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == module:
                            break
                    components.append(component)
    return components

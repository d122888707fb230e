# Keeps the named operations and every shape reachable from their inputs, without documentation.
def strip: walk(if type == "object" then del(.documentation, .documentationUrl) else . end);
. as $m
| ($ops | split(",")) as $names
| def reach($seen; $todo):
    if ($todo | length) == 0 then $seen
    else ($todo[0]) as $s
      | if ($seen | index($s)) then reach($seen; $todo[1:])
        else ($m.shapes[$s]) as $sh
          | ([ ($sh.members // {} | .[] | .shape), $sh.member.shape, $sh.key.shape, $sh.value.shape ] | map(select(. != null))) as $kids
          | reach($seen + [$s]; $todo[1:] + $kids)
        end
    end;
  ([ $names[] | $m.operations[.].input.shape | select(. != null) ]) as $roots
| reach([]; $roots) as $all
| { metadata: $m.metadata,
    operations: ($m.operations | with_entries(select(.key as $k | $names | index($k))) | map_values({name, http, input, errors})),
    shapes: ($m.shapes | with_entries(select(.key as $k | $all | index($k)))) }
| strip

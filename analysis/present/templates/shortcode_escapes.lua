-- Pandoc filter of the built-in renderer (analysis.render): Quarto's escape of a shortcode, "{{{< x >}}}"
-- showing "{{< x >}}", in metadata, where Quarto reads shortcodes in the parsed text (the report's title
-- block). analysis.present.escape writes that escape for text from outside the code (a file name, a
-- specification's title), so that Quarto shows it as written; this filter makes the built-in renderer show
-- the same. (In the markdown itself, text and code, render.py undoes the escape on the source, as Quarto.)
local function unescape(text)
  return (text:gsub("{{{(<.->)}}}", "{{%1}}"))
end

local function meta_value(value)
  local kind = pandoc.utils.type(value)
  if kind == "Inlines" or kind == "Blocks" then
    local text = pandoc.utils.stringify(value)
    if unescape(text) ~= text then
      return pandoc.Inlines{pandoc.Str(unescape(text))}
    end
  elseif kind == "List" then
    return value:map(meta_value)
  end
  return value
end

function Meta(meta)
  for key, value in pairs(meta) do
    meta[key] = meta_value(value)
  end
  return meta
end

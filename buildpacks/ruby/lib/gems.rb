# frozen_string_literal: true

# Questions bin/build asks Bundler about the app, answered as plain "key<TAB>value" lines for bash to read.
# Runs with the stack's Ruby and Bundler; BUNDLE_GEMFILE names the Gemfile to read (the app's or Hop3's wrapper).
#   ruby gems.rb info                 ruby requirement, whether this Ruby meets it, gem sources (after mirrors)
#   ruby gems.rb needed WITHOUT       gems the kept groups need (lockfile closure + Gemfile), absent here
#   ruby gems.rb report ORIGINAL_LOCK the resolved gems, where each was found, and the version first locked
require "bundler"

def lockfile_for(gemfile)
  gemfile.end_with?("gems.rb") ? gemfile.sub(/gems\.rb\z/, "gems.locked") : "#{gemfile}.lock"
end

def definition
  gemfile = Bundler::SharedHelpers.default_gemfile
  lock = lockfile_for(gemfile.to_s)
  Bundler::Definition.build(gemfile, File.exist?(lock) ? lock : nil, nil)
end

def locked_specs(path)
  return [] unless path && File.exist?(path)
  Bundler::LockfileParser.new(Bundler.read_file(path)).specs
end

case ARGV[0]
when "info"
  d = definition
  req = d.ruby_version&.versions || []
  ok = req.empty? || Gem::Requirement.new(*req).satisfied_by?(Gem::Version.new(RUBY_VERSION))
  puts "ruby_requirement\t#{req.join(', ')}"
  puts "ruby_ok\t#{ok ? 'yes' : 'no'}"
  remotes = d.send(:sources).rubygems_sources.flat_map(&:remotes).map(&:to_s).uniq
  puts "sources\t#{remotes.map { |u| Bundler.settings.mirror_for(u).to_s }.join(' ')}"
  puts "sources_declared\t#{remotes.join(' ')}"
when "needed"
  without = (ARGV[1] || "").split(/[\s:,]+/).map(&:to_sym)
  d = definition
  deps = d.dependencies.reject { |dep| !dep.groups.empty? && (dep.groups - without).empty? }
  by_name = locked_specs(d.lockfile&.to_s).group_by(&:name)
  names = []
  queue = deps.map(&:name)
  until queue.empty?
    name = queue.shift
    next if names.include?(name)
    names << name
    (by_name[name] || []).each { |s| queue.concat(s.dependencies.map(&:name)) }
  end
  names.each do |name|
    next if name == "bundler" || !Gem::Specification.find_all_by_name(name).empty?
    puts name
  end
when "report"
  original = locked_specs(ARGV[1]).to_h { |s| [s.name, s.version.to_s] }
  Bundler.definition.specs.sort_by(&:name).each do |spec|
    next if spec.name == "bundler"
    puts [spec.name, spec.version, spec.loaded_from.to_s, original[spec.name].to_s].join("\t")
  end
else
  warn "usage: gems.rb info|needed WITHOUT|report ORIGINAL_LOCK"
  exit 2
end
